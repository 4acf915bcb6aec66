//! The target platform (`os/arch[/variant]`) and the two ways of naming an architecture.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

/// A platform that is not `ARCH`, `OS/ARCH` or `OS/ARCH/VARIANT`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a platform (expected ARCH or OS/ARCH[/VARIANT])")]
pub struct PlatformError {
    /// The text as given.
    pub text: String,
}

impl Default for Platform {
    fn default() -> Self {
        Platform { os: "linux".into(), arch: "amd64".into(), variant: None }
    }
}

impl Platform {
    /// Parse `arch`, `os/arch` or `os/arch/variant`; accepts the uname names (`x86_64`,
    /// `aarch64`) and maps them to the OCI names.
    pub fn parse(text: &str) -> Result<Platform, PlatformError> {
        let invalid = || PlatformError { text: text.to_string() };
        let parts: Vec<&str> = text.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [arch] => ("linux", *arch, None),
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some(variant.to_string())),
            _ => return Err(invalid()),
        };
        if os.is_empty() || arch.is_empty() {
            return Err(invalid());
        }
        Ok(Platform { os: os.into(), arch: oci_arch(arch).into(), variant })
    }

    /// `linux/amd64` or `linux/arm/v7`.
    pub fn to_oci(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{}", self.os, self.arch, v),
            None => format!("{}/{}", self.os, self.arch),
        }
    }
}

/// The OCI architecture name for a uname-style one (`x86_64` → `amd64`).
pub fn oci_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The uname-style name MicroShift uses in release file names (`amd64` → `x86_64`).
pub fn uname_arch(arch: &str) -> &str {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    }
}
