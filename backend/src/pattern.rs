//! Names matched as GitLab matches protected branches: exactly, or with `*` standing for any
//! characters. Boards select projects, refs and environments this way.

/// `pattern` matches `name`: exactly, or where `*` stands for any characters (`release/*`,
/// `*-stable`).
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_gitlab_matches_protected_branches() {
        assert!(matches("main", "main"));
        assert!(!matches("main", "main2"));
        assert!(matches("release/*", "release/1.2"));
        assert!(matches("release/*", "release/a/b"), "a star spans slashes");
        assert!(!matches("release/*", "hotfix/1"));
        assert!(matches("*-stable", "13-stable"));
        assert!(matches("v*-rc*", "v2-rc1"));
        assert!(!matches("v*-rc*", "v2"));
        assert!(!matches("a*a", "a"), "the two ends may not overlap");
    }
}
