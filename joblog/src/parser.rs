use crate::ansi::Style;

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

/// A line as shown: what was written last after any `\r`, markers taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based, as in `#L123` links.
    pub number: usize,
    pub spans: Vec<Span>,
    /// The runner's timestamp (`FF_TIMESTAMPS`), e.g. `2024-06-05T10:00:00.100000Z`.
    pub timestamp: Option<String>,
    /// Written to stderr (the `E` stream of a timestamped log).
    pub stderr: bool,
    /// The innermost section holding this line (index into [`Log::sections`]).
    pub section: Option<usize>,
    /// This line is the header of that section (it carries the section's toggle).
    pub header_of: Option<usize>,
}

impl Line {
    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Looks like an error a person would want to jump to.
    pub fn is_error(&self) -> bool {
        use crate::ansi::Color;
        let red = self
            .spans
            .iter()
            .any(|s| matches!(s.style.fg, Some(Color::Ansi(1 | 9))) && !s.text.trim().is_empty());
        if red {
            return true;
        }
        let text = self.text();
        let lower = text.trim_start().to_ascii_lowercase();
        text.contains("ERROR")
            || text.contains("FAILED")
            || lower.starts_with("error")
            || lower.contains("error:")
            || lower.starts_with("fatal:")
    }
}

/// A collapsible part of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The line number of its header.
    pub header_line: usize,
    /// The last line number inside it, once it has ended.
    pub last_line: Option<usize>,
    pub start: u64,
    pub end: Option<u64>,
    /// Asked to start collapsed (`[collapsed=true]`).
    pub collapsed: bool,
    pub parent: Option<usize>,
    pub depth: usize,
}

impl Section {
    /// `MM:SS` (or `H:MM:SS`), as GitLab shows it, once the section has ended.
    pub fn duration(&self) -> Option<String> {
        let secs = self.end?.saturating_sub(self.start);
        Some(if secs >= 3600 {
            format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
        } else {
            format!("{:02}:{:02}", secs / 60, secs % 60)
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    pub lines: Vec<Line>,
    pub sections: Vec<Section>,
    /// The log carries `FF_TIMESTAMPS` prefixes.
    pub timestamps: bool,
}

impl Log {
    /// Index of the first line that looks like an error.
    pub fn first_error(&self) -> Option<usize> {
        self.lines.iter().position(Line::is_error)
    }

    /// Whether line `index` shows when the sections flagged in `collapsed` are closed.
    pub fn is_visible(&self, index: usize, collapsed: &[bool]) -> bool {
        let line = &self.lines[index];
        let mut section = match line.header_of {
            Some(own) => self.sections[own].parent,
            None => line.section,
        };
        while let Some(s) = section {
            if collapsed.get(s).copied().unwrap_or(false) {
                return false;
            }
            section = self.sections[s].parent;
        }
        true
    }

    /// Indexes of the lines that show when the sections flagged in `collapsed` are closed.
    pub fn visible_lines(&self, collapsed: &[bool]) -> Vec<usize> {
        (0..self.lines.len())
            .filter(|&i| self.is_visible(i, collapsed))
            .collect()
    }

    /// The sections' initial collapsed state (`[collapsed=true]`).
    pub fn default_collapsed(&self) -> Vec<bool> {
        self.sections.iter().map(|s| s.collapsed).collect()
    }

    /// The sections holding line `index`, innermost first.
    pub fn enclosing_sections(&self, index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut section = self.lines[index].section;
        while let Some(s) = section {
            out.push(s);
            section = self.sections[s].parent;
        }
        out
    }
}

/// Reads a log in pieces, as a running job appends to it.
#[derive(Debug, Default)]
pub struct Parser {
    log: Log,
    /// Bytes after the last `\n`.
    partial: Vec<u8>,
    style: Style,
    open: Vec<usize>,
    /// Decided from the first line.
    timestamps: Option<bool>,
    /// The line being built; in a timestamped log it stays open for `+` continuations.
    current: Option<Building>,
}

#[derive(Debug, Default)]
struct Building {
    spans: Vec<Span>,
    timestamp: Option<String>,
    stderr: bool,
    header_of: Option<usize>,
    had_marker: bool,
}

impl Building {
    fn push(&mut self, c: char, style: Style) {
        match self.spans.last_mut() {
            Some(last) if last.style == style => last.text.push(c),
            _ => self.spans.push(Span {
                text: c.to_string(),
                style,
            }),
        }
    }
}

const TIMESTAMP_HEADER: usize = 32;

fn timestamp_header(line: &[u8]) -> Option<(String, bool, bool)> {
    let h = line.get(..TIMESTAMP_HEADER)?;
    let digits = |r: std::ops::Range<usize>| h[r].iter().all(u8::is_ascii_digit);
    let shaped = digits(0..4)
        && h[4] == b'-'
        && digits(5..7)
        && h[7] == b'-'
        && digits(8..10)
        && h[10] == b'T'
        && digits(11..13)
        && h[13] == b':'
        && digits(14..16)
        && h[16] == b':'
        && digits(17..19)
        && h[19] == b'.'
        && digits(20..26)
        && h[26] == b'Z'
        && h[27] == b' '
        && h[28..30].iter().all(u8::is_ascii_hexdigit)
        && matches!(h[30], b'O' | b'E')
        && matches!(h[31], b' ' | b'+');
    shaped.then(|| {
        let ts = String::from_utf8_lossy(&h[..27]).into_owned();
        (ts, h[30] == b'E', h[31] == b'+')
    })
}

impl Parser {
    pub fn new() -> Self {
        Parser::default()
    }

    /// The lines read so far (a line still being written is not among them).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Reads more of the log.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..newline]);
            self.physical_line(&line);
            rest = &rest[newline + 1..];
        }
        self.partial.extend_from_slice(rest);
    }

    /// Takes what is left (a last line without `\n`) as a line: the log is complete.
    pub fn flush(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.physical_line(&line);
        }
        self.close_line();
    }

    /// Reads what is left and returns the whole log.
    pub fn finish(mut self) -> Log {
        self.flush();
        self.log
    }

    fn physical_line(&mut self, raw: &[u8]) {
        if self.timestamps.is_none() {
            self.timestamps = Some(timestamp_header(raw).is_some());
            self.log.timestamps = self.timestamps == Some(true);
        }
        let mut content = raw;
        if self.timestamps == Some(true)
            && let Some((ts, stderr, continuation)) = timestamp_header(raw)
        {
            content = &raw[TIMESTAMP_HEADER..];
            if !(continuation && self.current.is_some()) {
                self.close_line();
                self.current = Some(Building {
                    timestamp: Some(ts),
                    stderr,
                    ..Building::default()
                });
            }
        } else {
            self.close_line();
        }
        let text = String::from_utf8_lossy(content);
        self.absorb(&text);
        if self.timestamps != Some(true) {
            self.close_line();
        }
    }

    fn absorb(&mut self, text: &str) {
        let mut line = self.current.take().unwrap_or_default();
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < text.len() {
            let rest = &text[i..];
            if (rest.starts_with("section_start:") || rest.starts_with("section_end:"))
                && let Some(used) = self.section_marker(rest, &mut line)
            {
                line.had_marker = true;
                i += used;
                continue;
            }
            let c = rest.chars().next().expect("not at the end");
            match c {
                '\x1b' => i += self.escape(&bytes[i..]),
                '\r' => {
                    // A CR before the end of the line starts it over; a final CR (CRLF) is nothing.
                    if i + 1 < text.len() {
                        line.spans.clear();
                    }
                    i += 1;
                }
                '\t' => {
                    line.push('\t', self.style);
                    i += 1;
                }
                c if c.is_control() => i += c.len_utf8(),
                c => {
                    line.push(c, self.style);
                    i += c.len_utf8();
                }
            }
        }
        self.current = Some(line);
    }

    /// Handles `ESC ...`; returns the bytes used.
    fn escape(&mut self, bytes: &[u8]) -> usize {
        if bytes.get(1) != Some(&b'[') {
            // Not CSI (e.g. `ESC ( B`): drop ESC, its intermediate bytes and its final byte.
            let intermediates = bytes[1..].iter().take_while(|b| (0x20..=0x2f).contains(*b)).count();
            return match bytes.get(1 + intermediates) {
                Some(b) if (0x30..=0x7e).contains(b) => 2 + intermediates,
                _ => 1 + intermediates,
            };
        }
        let mut end = 2;
        while end < bytes.len() && (0x20..=0x3f).contains(&bytes[end]) {
            end += 1;
        }
        let Some(&last) = bytes.get(end) else {
            return bytes.len();
        };
        if !(0x40..=0x7e).contains(&last) {
            return end;
        }
        if last == b'm' {
            let params: Vec<u16> = std::str::from_utf8(&bytes[2..end])
                .unwrap_or("")
                .split(';')
                .map(|p| p.parse::<u16>().unwrap_or(0))
                .collect();
            let params = if bytes[2..end].is_empty() { Vec::new() } else { params };
            self.style.apply(&params);
        }
        end + 1
    }

    /// `section_(start|end):<digits>:<name>[options]\r\e[0K`; returns the bytes used.
    fn section_marker(&mut self, text: &str, line: &mut Building) -> Option<usize> {
        let (start, after_kind) = if let Some(r) = text.strip_prefix("section_start:") {
            (true, r)
        } else {
            (false, text.strip_prefix("section_end:")?)
        };
        let digits = after_kind.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || after_kind.as_bytes().get(digits) != Some(&b':') {
            return None;
        }
        let timestamp: u64 = after_kind[..digits].parse().ok()?;
        let after_ts = &after_kind[digits + 1..];
        let name_len = after_ts
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            .count();
        if name_len == 0 {
            return None;
        }
        let name = &after_ts[..name_len];
        let mut after_name = &after_ts[name_len..];
        let mut options = "";
        if after_name.starts_with('[') {
            let close = after_name.find(']')?;
            options = &after_name[1..close];
            after_name = &after_name[close + 1..];
        }
        if !after_name.starts_with("\r\x1b[0K") {
            return None;
        }
        let used = text.len() - after_name.len() + "\r\x1b[0K".len();
        let name = name
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        if start {
            let collapsed = options
                .split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .any(|(k, v)| k == "collapsed" && v == "true");
            let parent = self.open.last().copied();
            let index = self.log.sections.len();
            self.log.sections.push(Section {
                name,
                header_line: self.log.lines.len() + 1,
                last_line: None,
                start: timestamp,
                end: None,
                collapsed,
                parent,
                depth: self.open.len(),
            });
            self.open.push(index);
            line.header_of = Some(index);
        } else if let Some(position) = self.open.iter().rposition(|&s| self.log.sections[s].name == name) {
            // Ends this section and any left open inside it; an end without a start is ignored.
            let last_line = self.log.lines.len();
            for s in self.open.drain(position..) {
                let section = &mut self.log.sections[s];
                section.end = Some(timestamp);
                section.last_line = Some(last_line.max(section.header_line));
            }
        }
        Some(used)
    }

    fn close_line(&mut self) {
        let Some(line) = self.current.take() else {
            return;
        };
        let empty = line.spans.iter().all(|s| s.text.is_empty());
        if line.had_marker && empty && line.header_of.is_none() {
            // A line that only ended a section shows nothing.
            return;
        }
        let number = self.log.lines.len() + 1;
        if let Some(own) = line.header_of {
            self.log.sections[own].header_line = number;
        }
        self.log.lines.push(Line {
            number,
            spans: line.spans.into_iter().filter(|s| !s.text.is_empty()).collect(),
            timestamp: line.timestamp,
            stderr: line.stderr,
            section: line.header_of.or(self.open.last().copied()),
            header_of: line.header_of,
        });
    }
}

/// Reads a whole log.
pub fn parse(bytes: &[u8]) -> Log {
    let mut parser = Parser::new();
    parser.feed(bytes);
    parser.finish()
}
