//! A multi-member gzip reader that does not compute the CRC-32 of what it inflates.
//!
//! Every gzip layer is read to check a SHA-256 digest: of the compressed blob (OCI and
//! registry layers) or of the uncompressed tar (docker-archive diff IDs). Either digest covers
//! every byte the CRC would, so the CRC is work without use (8% of a cold read by `perf`).
//! The member's size field (ISIZE, the length modulo 2³²) is still checked: it costs nothing.
//! Members follow each other (eStargz layers are hundreds of them); bytes after the last one
//! that are not a gzip header end the stream, as GNU gzip treats trailing garbage, and stay
//! covered by the blob digest.

use flate2::bufread::DeflateDecoder;
use std::io::{self, BufRead, Read};

const FTEXT_MASK: u8 = 0b1110_0000;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

pub struct GzReader<R: BufRead> {
    state: State<R>,
    members: u64,
}

enum State<R: BufRead> {
    /// Between members: the next bytes are a header, or the end.
    Header(R),
    Body {
        inflate: DeflateDecoder<R>,
        size: u32,
    },
    Done,
    /// Taken out while moving between states.
    Empty,
}

impl<R: BufRead> GzReader<R> {
    pub fn new(inner: R) -> GzReader<R> {
        GzReader { state: State::Header(inner), members: 0 }
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Read exactly `buf.len()` bytes; a short read is a truncated stream.
fn fill<R: BufRead>(r: &mut R, buf: &mut [u8], what: &str) -> io::Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            io::Error::new(io::ErrorKind::UnexpectedEof, format!("truncated gzip {what}"))
        }
        _ => e,
    })
}

/// Skip a zero-terminated field of the header.
fn skip_zero_terminated<R: BufRead>(r: &mut R) -> io::Result<()> {
    let mut field = Vec::new();
    let n = r.take(64 * 1024).read_until(0, &mut field)?;
    if n == 0 || field.last() != Some(&0) {
        return Err(invalid("gzip header: unterminated or oversized name/comment field"));
    }
    Ok(())
}

/// Parse one member header (RFC 1952 §2.3); `Ok(false)` at the end of the stream or before
/// trailing bytes that are not a member.
fn header<R: BufRead>(r: &mut R, first: bool) -> io::Result<bool> {
    let head = r.fill_buf()?;
    if head.is_empty() {
        return if first { Err(invalid("empty gzip stream")) } else { Ok(false) };
    }
    if !first && (head.len() < 2 || head[..2] != [0x1f, 0x8b]) {
        return Ok(false);
    }
    let mut fixed = [0u8; 10];
    fill(r, &mut fixed, "header")?;
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(invalid("not a gzip stream"));
    }
    if fixed[2] != 8 {
        return Err(invalid(format!("gzip compression method {} (only deflate is defined)", fixed[2])));
    }
    let flags = fixed[3];
    if flags & FTEXT_MASK != 0 {
        return Err(invalid("gzip header with reserved flags set"));
    }
    if flags & FEXTRA != 0 {
        let mut len = [0u8; 2];
        fill(r, &mut len, "header")?;
        let mut extra = vec![0u8; usize::from(u16::from_le_bytes(len))];
        fill(r, &mut extra, "header")?;
    }
    if flags & FNAME != 0 {
        skip_zero_terminated(r)?;
    }
    if flags & FCOMMENT != 0 {
        skip_zero_terminated(r)?;
    }
    if flags & FHCRC != 0 {
        let mut crc = [0u8; 2];
        fill(r, &mut crc, "header")?;
    }
    Ok(true)
}

impl<R: BufRead> Read for GzReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, State::Empty) {
                State::Header(mut r) => {
                    if header(&mut r, self.members == 0)? {
                        self.members += 1;
                        self.state = State::Body { inflate: DeflateDecoder::new(r), size: 0 };
                    } else {
                        self.state = State::Done;
                    }
                }
                State::Body { mut inflate, size } => {
                    let n = inflate.read(buf)?;
                    if n > 0 {
                        self.state = State::Body { inflate, size: size.wrapping_add(n as u32) };
                        return Ok(n);
                    }
                    // The deflate stream ended: CRC-32 (not checked) and ISIZE.
                    let mut r = inflate.into_inner();
                    let mut trailer = [0u8; 8];
                    fill(&mut r, &mut trailer, "trailer")?;
                    let isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
                    if isize != size {
                        return Err(invalid(format!(
                            "gzip member of {size} bytes (modulo 2^32) says it holds {isize}"
                        )));
                    }
                    self.state = State::Header(r);
                }
                State::Done => {
                    self.state = State::Done;
                    return Ok(0);
                }
                State::Empty => return Err(io::Error::other("gzip reader used after an error")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut e = builder.write(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn inflate(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzReader::new(data).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn members_with_every_header_field_inflate_in_sequence() {
        let a = gz(b"first member ", flate2::GzBuilder::new());
        let b = gz(
            &b"second".repeat(1000),
            flate2::GzBuilder::new().filename("f.tar").comment("c").extra(b"SG\x02\x00ab"),
        );
        // FHCRC: GzBuilder does not write it; set the flag and add the two bytes by hand.
        let mut c = gz(b" third", flate2::GzBuilder::new());
        c[3] |= FHCRC;
        c.splice(10..10, [0xaa, 0xbb]);
        let empty = gz(b"", flate2::GzBuilder::new());
        let all = [a, b, empty, c].concat();
        let want = [&b"first member "[..], &b"second".repeat(1000), b" third"].concat();
        assert_eq!(inflate(&all).unwrap(), want);
        // Trailing bytes that are not a member end the stream.
        assert_eq!(inflate(&[all.clone(), vec![0u8; 100]].concat()).unwrap(), want);
    }

    #[test]
    fn truncation_sizes_and_headers_are_checked_but_not_the_crc() {
        let good = gz(&b"payload".repeat(100), flate2::GzBuilder::new());
        for cut in [good.len() - 1, good.len() - 8, good.len() / 2, 5] {
            let err = inflate(&good[..cut]).unwrap_err().to_string();
            assert!(
                err.contains("truncated") || err.contains("corrupt") || err.contains("deflate"),
                "{cut}: {err}"
            );
        }
        let mut size = good.clone();
        let n = size.len();
        size[n - 4] ^= 1;
        assert!(inflate(&size).unwrap_err().to_string().contains("says it holds"));
        let mut method = good.clone();
        method[2] = 7;
        assert!(inflate(&method).unwrap_err().to_string().contains("compression method 7"));
        assert!(inflate(b"").is_err());
        // The CRC-32 is deliberately not computed: the layer's SHA-256 covers the same bytes.
        let mut crc = good.clone();
        crc[n - 8] ^= 1;
        assert_eq!(inflate(&crc).unwrap(), b"payload".repeat(100));
    }
}
