//! Offset pagination with GitLab's headers: `x-page`, `x-per-page`, `x-next-page`,
//! `x-prev-page`, `x-total`, `x-total-pages` and `Link`; `per_page` capped at 100.

use axum::http::{HeaderMap, HeaderValue};

use super::error::GitlabError;
use super::params::Params;

pub const MAX_PER_PAGE: usize = 100;
const DEFAULT_PER_PAGE: usize = 20;

/// Whether the endpoint counts its items (`without_count` endpoints such as project jobs do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Counted,
    WithoutCount,
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub headers: HeaderMap,
}

pub fn paginate<T>(all: Vec<T>, params: &Params, url: &str, counting: Counting) -> Result<Page<T>, GitlabError> {
    let page = params.int("page")?.unwrap_or(1).max(1) as usize;
    let per_page = match params.int("per_page")? {
        Some(n) if n >= 1 => (n as usize).min(MAX_PER_PAGE),
        _ => DEFAULT_PER_PAGE,
    };
    let total = all.len();
    let total_pages = total.div_ceil(per_page).max(1);
    let items: Vec<T> = all.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let next = (page * per_page < total).then_some(page + 1);
    let prev = (page > 1).then_some(page - 1);

    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("header value"));
    };
    set("x-page", page.to_string());
    set("x-per-page", per_page.to_string());
    set("x-next-page", next.map(|n| n.to_string()).unwrap_or_default());
    set("x-prev-page", prev.map(|n| n.to_string()).unwrap_or_default());
    let mut links = Vec::new();
    let link = |page: usize, rel: &str| format!("<{}>; rel=\"{rel}\"", page_url(url, params, page, per_page));
    if let Some(p) = prev {
        links.push(link(p, "prev"));
    }
    if let Some(n) = next {
        links.push(link(n, "next"));
    }
    links.push(link(1, "first"));
    if counting == Counting::Counted {
        set("x-total", total.to_string());
        set("x-total-pages", total_pages.to_string());
        links.push(link(total_pages, "last"));
    }
    set("link", links.join(", "));
    Ok(Page { items, headers })
}

fn page_url(base: &str, params: &Params, page: usize, per_page: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.pairs() {
        if k != "page" && k != "per_page" {
            query.append_pair(k, v);
        }
    }
    query.append_pair("page", &page.to_string());
    query.append_pair("per_page", &per_page.to_string());
    format!("{base}?{}", query.finish())
}
