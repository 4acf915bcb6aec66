//! Slash-separated paths resolved lexically, as tar entries, Containerfile instructions and
//! in-image paths are: no file system is asked.

/// The components of `path` with `.` and empty ones dropped and each `..` removing the one
/// before it, never climbing above the start (`../x` and `/x` both give `["x"]`).
pub fn lexical_parts(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_and_slashes_resolve_without_leaving_the_start() {
        assert_eq!(lexical_parts("./usr//lib/./x/"), ["usr", "lib", "x"]);
        assert_eq!(lexical_parts("/a/b/../c"), ["a", "c"]);
        assert_eq!(lexical_parts("../../etc/shadow"), ["etc", "shadow"]);
        assert!(lexical_parts("/").is_empty());
    }
}
