use leptos::prelude::*;

/// One cell of a [`data_table`]: text, a class, maybe a link. Tables are built from these
/// rather than from their own views so that every table shares one view type (smaller wasm).
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub class: String,
    pub href: Option<String>,
    pub title: Option<String>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn class(mut self, class: impl Into<String>) -> Cell {
        self.class = class.into();
        self
    }

    pub fn link(mut self, href: String) -> Cell {
        self.href = Some(href);
        self
    }

    pub fn title(mut self, title: String) -> Cell {
        self.title = Some(title);
        self
    }
}

/// A table with a header row and rows of cells.
pub fn data_table(class: &'static str, headers: &'static [&'static str], rows: Vec<Vec<Cell>>) -> AnyView {
    view! {
        <table class=class>
            <thead><tr>{headers.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr></thead>
            <tbody>
                {rows.into_iter().map(|row| view! {
                    <tr>
                        {row.into_iter().map(|c| view! {
                            <td class=c.class title=c.title>
                                {match c.href {
                                    Some(href) => view! { <a href=href>{c.text}</a> }.into_any(),
                                    None => c.text.into_any(),
                                }}
                            </td>
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
