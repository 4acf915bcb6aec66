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

impl Transport {
    /// Parse an `--image` value. The error names what was expected.
    pub fn parse(spec: &str) -> Result<Transport, String> {
        let Some((name, rest)) = spec.split_once(':') else {
            return Err("expected TRANSPORT:LOCATION, e.g. oci-archive:out.tar, \
                        docker://quay.io/x/y:1 or rootfs:/"
                .into());
        };
        let nonempty = |what: &str, v: &str| -> Result<(), String> {
            if v.is_empty() { Err(format!("`{name}:` needs {what}")) } else { Ok(()) }
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
                let reference = rest
                    .strip_prefix("//")
                    .ok_or_else(|| "`docker:` is followed by //REF (docker://quay.io/x/y:1)".to_string())?;
                nonempty("a reference", reference)?;
                Ok(Transport::Docker { reference: reference.to_string() })
            }
            "containers-storage" => parse_storage(rest),
            "rootfs" => {
                nonempty("a directory", rest)?;
                Ok(Transport::Rootfs { dir: rest.into() })
            }
            "dir" => Err("the `dir:` transport is not supported for the OS image; copy it with \
                          `skopeo copy dir:... oci-archive:out.tar`"
                .into()),
            other => Err(format!(
                "unknown transport `{other}` (expected oci, oci-archive, docker-archive, docker, \
                 containers-storage or rootfs)"
            )),
        }
    }
}

/// `[DRIVER@ROOT+RUNROOT:OPTIONS]REF`, `[ROOT]REF` or `REF` (containers/image storage/).
fn parse_storage(rest: &str) -> Result<Transport, String> {
    let (store, reference) = match rest.strip_prefix('[') {
        Some(inner) => {
            let close = inner.find(']').ok_or("unclosed `[` in containers-storage:[...]REF")?;
            (Some(&inner[..close]), &inner[close + 1..])
        }
        None => (None, rest),
    };
    if reference.is_empty() {
        return Err("`containers-storage:` needs an image reference or ID".into());
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
                return Err(format!("the store root `{root_part}` must be an absolute path"));
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
}
