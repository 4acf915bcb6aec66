//! STUB — BuildKit variable substitution, to be written with the Containerfile parser.
