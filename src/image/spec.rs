//! The containers-transports(5) syntax of `--image`, plus `rootfs:DIR`.

use std::path::PathBuf;

/// Where an image lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `oci:DIR[:TAG]`: an OCI image layout directory.
    Oci { dir: PathBuf, tag: Option<String> },
    /// `oci-archive:FILE[:TAG]`: a tar of an OCI image layout.
    OciArchive { file: PathBuf, tag: Option<String> },
    /// `docker-archive:FILE[:REF]`: `docker save` / `skopeo copy` output (old or OCI style).
    DockerArchive { file: PathBuf, reference: Option<String> },
    /// `docker://REF`: a registry.
    Docker { reference: String },
    /// `containers-storage:[DRIVER@ROOT+RUNROOT]REF`: a local podman / CRI-O store.
    ContainersStorage { driver: Option<String>, root: Option<PathBuf>, reference: String },
    /// `rootfs:DIR`: an unpacked or mounted tree (`rootfs:/` inside a build).
    Rootfs { dir: PathBuf },
}

/// An `--image` value that is not in the transports syntax; the message says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("expected TRANSPORT:LOCATION, e.g. oci-archive:out.tar, docker://quay.io/x/y:1 or rootfs:/")]
    NoTransport,
    /// `TRANSPORT:` with nothing where the path, reference or directory goes.
    #[error("`{transport}:` needs {what}")]
    Empty { transport: String, what: &'static str },
    #[error("`docker:` is followed by //REF (docker://quay.io/x/y:1)")]
    DockerWithoutSlashes,
    #[error(
        "the `dir:` transport is not supported for the OS image; copy it with \
         `skopeo copy dir:... oci-archive:out.tar`"
    )]
    Dir,
    #[error(
        "unknown transport `{0}` (expected oci, oci-archive, docker-archive, docker, \
         containers-storage or rootfs)"
    )]
    UnknownTransport(String),
    #[error("unclosed `[` in containers-storage:[...]REF")]
    UnclosedStore,
    #[error("`containers-storage:` needs an image reference or ID")]
    NoStorageReference,
    #[error("the store root `{0}` must be an absolute path")]
    RelativeStoreRoot(String),
}

impl Transport {
    /// Parse an `--image` value. The error names what was expected.
    pub fn parse(spec: &str) -> Result<Transport, SpecError> {
        let Some((name, rest)) = spec.split_once(':') else {
            return Err(SpecError::NoTransport);
        };
        let nonempty = |what: &'static str, v: &str| -> Result<(), SpecError> {
            if v.is_empty() { Err(SpecError::Empty { transport: name.to_string(), what }) } else { Ok(()) }
        };
        match name {
            // containers/image splits path and tag at the first colon.
            "oci" | "oci-archive" => {
                let (path, tag) = match rest.split_once(':') {
                    Some((p, t)) if !t.is_empty() => (p, Some(t.to_string())),
                    Some((p, _)) => (p, None),
                    None => (rest, None),
                };
                nonempty("a path", path)?;
                Ok(if name == "oci" {
                    Transport::Oci { dir: path.into(), tag }
                } else {
                    Transport::OciArchive { file: path.into(), tag }
                })
            }
            "docker-archive" => {
                let (path, reference) = match rest.split_once(':') {
                    Some((p, r)) if !r.is_empty() => (p, Some(r.to_string())),
                    Some((p, _)) => (p, None),
                    None => (rest, None),
                };
                nonempty("a path", path)?;
                Ok(Transport::DockerArchive { file: path.into(), reference })
            }
            "docker" => {
                let reference = rest.strip_prefix("//").ok_or(SpecError::DockerWithoutSlashes)?;
                nonempty("a reference", reference)?;
                Ok(Transport::Docker { reference: reference.to_string() })
            }
            "containers-storage" => parse_storage(rest),
            "rootfs" => {
                nonempty("a directory", rest)?;
                Ok(Transport::Rootfs { dir: rest.into() })
            }
            "dir" => Err(SpecError::Dir),
            other => Err(SpecError::UnknownTransport(other.to_string())),
        }
    }
}

/// `[DRIVER@ROOT+RUNROOT:OPTIONS]REF`, `[ROOT]REF` or `REF` (containers/image storage/).
fn parse_storage(rest: &str) -> Result<Transport, SpecError> {
    let (store, reference) = match rest.strip_prefix('[') {
        Some(inner) => {
            let close = inner.find(']').ok_or(SpecError::UnclosedStore)?;
            (Some(&inner[..close]), &inner[close + 1..])
        }
        None => (None, rest),
    };
    if reference.is_empty() {
        return Err(SpecError::NoStorageReference);
    }
    let (mut driver, mut root) = (None, None);
    if let Some(store) = store {
        let (drv, location) = match store.split_once('@') {
            Some((d, l)) => (Some(d), l),
            None => (None, store),
        };
        // Options after the first `:` and the run root after `+` do not matter for reading.
        let location = location.split(':').next().unwrap_or("");
        let root_part = location.split('+').next().unwrap_or("");
        if let Some(d) = drv.filter(|d| !d.is_empty()) {
            driver = Some(d.to_string());
        }
        if !root_part.is_empty() {
            if !root_part.starts_with('/') {
                return Err(SpecError::RelativeStoreRoot(root_part.to_string()));
            }
            root = Some(PathBuf::from(root_part));
        }
    }
    Ok(Transport::ContainersStorage { driver, root, reference: reference.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_parse_like_containers_image() {
        assert_eq!(
            Transport::parse("oci:/tmp/lay:v1").unwrap(),
            Transport::Oci { dir: "/tmp/lay".into(), tag: Some("v1".into()) }
        );
        assert_eq!(
            Transport::parse("oci-archive:out.tar").unwrap(),
            Transport::OciArchive { file: "out.tar".into(), tag: None }
        );
        assert_eq!(
            Transport::parse("docker-archive:a.tar:x/y:1").unwrap(),
            Transport::DockerArchive { file: "a.tar".into(), reference: Some("x/y:1".into()) }
        );
        assert_eq!(
            Transport::parse("docker://quay.io/a/b:1").unwrap(),
            Transport::Docker { reference: "quay.io/a/b:1".into() }
        );
        assert_eq!(
            Transport::parse("containers-storage:[vfs@/r+/run/x]quay.io/a/b:1").unwrap(),
            Transport::ContainersStorage {
                driver: Some("vfs".into()),
                root: Some("/r".into()),
                reference: "quay.io/a/b:1".into()
            }
        );
        assert_eq!(
            Transport::parse("containers-storage:[/r]x").unwrap(),
            Transport::ContainersStorage { driver: None, root: Some("/r".into()), reference: "x".into() }
        );
        assert_eq!(Transport::parse("rootfs:/").unwrap(), Transport::Rootfs { dir: "/".into() });
        for bad in ["out.tar", "docker:x", "nope:x", "oci:", "containers-storage:[vfs@/r", "rootfs:"] {
            assert!(Transport::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_say_what_was_expected() {
        for (bad, message) in [
            (
                "out.tar",
                "expected TRANSPORT:LOCATION, e.g. oci-archive:out.tar, docker://quay.io/x/y:1 or rootfs:/",
            ),
            ("oci:", "`oci:` needs a path"),
            ("docker:x", "`docker:` is followed by //REF (docker://quay.io/x/y:1)"),
            ("docker://", "`docker:` needs a reference"),
            ("rootfs:", "`rootfs:` needs a directory"),
            (
                "dir:x",
                "the `dir:` transport is not supported for the OS image; copy it with `skopeo copy dir:... \
                 oci-archive:out.tar`",
            ),
            (
                "nope:x",
                "unknown transport `nope` (expected oci, oci-archive, docker-archive, docker, containers-storage \
                 or rootfs)",
            ),
            ("containers-storage:[vfs@/r", "unclosed `[` in containers-storage:[...]REF"),
            ("containers-storage:[/r]", "`containers-storage:` needs an image reference or ID"),
            ("containers-storage:[r]x", "the store root `r` must be an absolute path"),
        ] {
            assert_eq!(Transport::parse(bad).unwrap_err().to_string(), message, "{bad}");
        }
    }
}
