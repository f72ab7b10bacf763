//! SGR (Select Graphic Rendition) state.

/// A colour as the log asked for it; the viewer maps it to its theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Color {
    /// 0–7 normal, 8–15 bright (SGR 30–37, 90–97 and their backgrounds).
    Ansi(u8),
    /// The 256-colour palette (SGR 38;5;n).
    Indexed(u8),
    /// Truecolor (SGR 38;2;r;g;b).
    Rgb(u8, u8, u8),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Style {
    pub fg: Option<Color>,
    pub bg: Option<Color>,
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
}

impl Style {
    /// Applies the parameters of one `ESC [ ... m`.
    pub(crate) fn apply(&mut self, params: &[u16]) {
        if params.is_empty() {
            *self = Style::default();
            return;
        }
        let mut i = 0;
        while i < params.len() {
            let p = params[i];
            match p {
                0 => *self = Style::default(),
                1 => self.bold = true,
                3 => self.italic = true,
                4 => self.underline = true,
                22 => self.bold = false,
                23 => self.italic = false,
                24 => self.underline = false,
                30..=37 => self.fg = Some(Color::Ansi((p - 30) as u8)),
                39 => self.fg = None,
                40..=47 => self.bg = Some(Color::Ansi((p - 40) as u8)),
                49 => self.bg = None,
                90..=97 => self.fg = Some(Color::Ansi((p - 90 + 8) as u8)),
                100..=107 => self.bg = Some(Color::Ansi((p - 100 + 8) as u8)),
                38 | 48 => {
                    let (color, used) = extended_color(&params[i + 1..]);
                    if let Some(color) = color {
                        if p == 38 {
                            self.fg = Some(color);
                        } else {
                            self.bg = Some(color);
                        }
                    }
                    i += used;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// `5;n` or `2;r;g;b` after a 38/48; returns the colour and how many parameters it used.
fn extended_color(rest: &[u16]) -> (Option<Color>, usize) {
    let byte = |v: u16| u8::try_from(v).ok();
    match rest {
        [5, n, ..] => (byte(*n).map(Color::Indexed), 2),
        [2, r, g, b, ..] => match (byte(*r), byte(*g), byte(*b)) {
            (Some(r), Some(g), Some(b)) => (Some(Color::Rgb(r, g, b)), 4),
            _ => (None, 4),
        },
        [5] | [2, ..] => (None, rest.len()),
        _ => (None, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styled(params: &[u16]) -> Style {
        let mut s = Style::default();
        s.apply(params);
        s
    }

    #[test]
    fn sixteen_colours_and_attributes() {
        let s = styled(&[31, 1]);
        assert_eq!(s.fg, Some(Color::Ansi(1)));
        assert!(s.bold);
        assert_eq!(styled(&[92]).fg, Some(Color::Ansi(10)));
        assert_eq!(styled(&[104]).bg, Some(Color::Ansi(12)));
        let s = styled(&[3, 4]);
        assert!(s.italic && s.underline);
        let mut s = styled(&[1, 3, 4, 31]);
        s.apply(&[22, 23, 24, 39]);
        assert_eq!(s, Style::default());
    }

    #[test]
    fn extended_colours() {
        assert_eq!(styled(&[38, 5, 208]).fg, Some(Color::Indexed(208)));
        assert_eq!(styled(&[48, 2, 10, 20, 30]).bg, Some(Color::Rgb(10, 20, 30)));
        let s = styled(&[38, 2, 1, 2, 3, 1]);
        assert!(s.bold, "parameters after a truecolor are still read");
        assert_eq!(styled(&[38, 5, 999]).fg, None, "out of range is ignored");
        assert_eq!(styled(&[38, 5]).fg, None);
    }

    #[test]
    fn reset_clears_everything() {
        let mut s = styled(&[31, 1, 4]);
        s.apply(&[0]);
        assert_eq!(s, Style::default());
        let mut s = styled(&[31]);
        s.apply(&[]);
        assert_eq!(s, Style::default());
    }
}
