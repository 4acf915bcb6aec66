//! STUB — to be replaced by the ImageRef implementation.
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    raw: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference")]
pub struct ParseError;

impl ImageRef {
    pub fn parse(text: &str) -> Result<ImageRef, ParseError> {
        if text.is_empty() {
            return Err(ParseError);
        }
        Ok(ImageRef { raw: text.to_string() })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}
