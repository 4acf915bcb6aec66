//! The one result type every rule produces and every renderer consumes.

use crate::text::location::Location;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary position that explains the finding (e.g. "tag set here").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    pub message: String,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// The image concerned, fully qualified when it could be resolved, else as written.
    pub image: Option<String>,
    /// The object the finding is about, e.g. `Deployment acme/gateway, container gateway`, or
    /// a Containerfile stage; part of the baseline fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub location: Location,
    pub related: Vec<Related>,
    pub help: Option<String>,
    /// A short label for the primary position in source excerpts ("tag", "pull policy").
    #[serde(skip)]
    pub label: Option<String>,
}

impl Finding {
    pub fn new(
        rule: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
        location: Location,
    ) -> Self {
        Finding {
            rule: rule.into(),
            object: None,
            severity,
            message: message.into(),
            image: None,
            location,
            related: Vec::new(),
            help: None,
            label: None,
        }
    }

    pub fn with_image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Record the reference the finding is about: its image, the object it belongs to, and
    /// where a kustomization changed it (each `newTag`, patch or replacement becomes a
    /// related location).
    pub fn about(mut self, r: &crate::reference::Reference) -> Self {
        self.image = Some(r.display_image());
        self.object = r.describe_object();
        for change in &r.changed_by {
            self.related.push(Related {
                message: format!("changed by {}", change.what),
                location: change.location.clone(),
            });
        }
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_related(mut self, message: impl Into<String>, location: Location) -> Self {
        self.related.push(Related { message: message.into(), location });
        self
    }

    /// The order every renderer uses: by file, position, then rule.
    pub fn sort_key(&self) -> (&str, u32, u32, &str, &str) {
        (&self.location.file, self.location.line, self.location.column, &self.rule, &self.message)
    }
}
