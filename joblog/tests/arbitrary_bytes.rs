//! What the fuzz target (joblog/fuzz) checks, run on stable over many pseudo-random logs built
//! from the pieces real logs are made of, so CI keeps the invariants honest.

use stageboard_joblog::{Parser, parse};

const PIECES: &[&[u8]] = &[
    b"\n",
    b"\r",
    b"\r\n",
    b"\x1b[",
    b"\x1b[0K",
    b"\x1b[31;1m",
    b"\x1b[38;5;",
    b"\x1b[38;2;1;2;3m",
    b"m",
    b";",
    b"\x1b",
    b"section_start:",
    b"section_end:",
    b"1717581600",
    b":",
    b"step_script",
    b"[collapsed=true]",
    b"\r\x1b[0K",
    b"2024-06-05T10:00:00.100000Z 00O ",
    b"2024-06-05T10:00:00.100000Z 00E+",
    b"text ",
    b"\xff",
    b"\xe2\x82",
    b"\xac",
    b"<b>",
    b"\t",
    b"\0",
];

/// xorshift: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn arbitrary_logs_parse_the_same_whole_or_in_pieces() {
    let mut rng = Rng(0x5eed_1234_abcd);
    for _ in 0..3000 {
        let mut data = Vec::new();
        for _ in 0..rng.next() % 60 {
            data.extend_from_slice(PIECES[(rng.next() % PIECES.len() as u64) as usize]);
        }
        let whole = parse(&data);
        let split = (rng.next() as usize) % (data.len() + 1);
        let mut parser = Parser::new();
        parser.feed(&data[..split]);
        parser.feed(&data[split..]);
        assert_eq!(parser.finish(), whole, "input {data:?}");
        for (i, line) in whole.lines.iter().enumerate() {
            assert_eq!(line.number, i + 1);
            assert!(line.section.is_none_or(|s| s < whole.sections.len()));
            assert!(!line.text().contains('\x1b'), "an escape leaked into text: {data:?}");
        }
        let _ = whole.visible_lines(&whole.default_collapsed());
    }
}
