//! One GVSP datagram as the reassembler sees it: a contiguous slice, or the
//! fragments of an AF_XDP multi-buffer packet.
//!
//! Invariants: `head()` is contiguous and holds the first
//! `min(len(), HEAD_LEN)` bytes of the datagram (so the GVSP header, a
//! leader, a trailer and the all-in prefix are always readable from it);
//! `copy_body(skip, dst)` writes exactly `dst.len()` bytes, the datagram's
//! bytes from `skip` on, when `skip + dst.len() == len()`, and copies each
//! byte once. Building a view never allocates.

/// Bytes gathered into `head()`: 20-byte extended header, 36-byte image
/// leader, 8-byte trailer and 8 bytes of chunk info (all-in), rounded up.
pub(crate) const HEAD_LEN: usize = 96;

/// A datagram's bytes, contiguous or in fragments.
pub(crate) trait Datagram {
    /// The contiguous start of the datagram (see the module invariants).
    fn head(&self) -> &[u8];
    /// Total length in bytes.
    fn len(&self) -> usize;
    /// Copies the bytes from `skip` to the end into `dst` (`dst.len()` must equal `len() - skip`).
    fn copy_body(&self, skip: usize, dst: &mut [u8]);
}

/// A datagram in one slice (socket path, AF_XDP single buffer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contiguous<'a>(pub(crate) &'a [u8]);

impl Datagram for Contiguous<'_> {
    fn head(&self) -> &[u8] {
        self.0
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn copy_body(&self, skip: usize, dst: &mut [u8]) {
        if let Some(src) = self.0.get(skip..skip + dst.len()) {
            dst.copy_from_slice(src);
        }
    }
}

/// A datagram spread over several buffers (AF_XDP `XDP_PKT_CONTD` chains).
#[derive(Debug)]
pub(crate) struct Fragmented<'a> {
    fragments: &'a [&'a [u8]],
    len: usize,
    gathered: [u8; HEAD_LEN],
    gathered_len: usize,
    head_in_first: bool,
}

impl<'a> Fragmented<'a> {
    /// Wraps the fragments; gathers the head on the stack only when the
    /// first fragment is shorter than `HEAD_LEN` and more bytes follow.
    pub(crate) fn new(fragments: &'a [&'a [u8]]) -> Self {
        let len = fragments.iter().map(|f| f.len()).sum();
        let first_len = fragments.first().map_or(0, |f| f.len());
        let head_in_first = first_len >= HEAD_LEN || first_len == len;
        let mut gathered = [0u8; HEAD_LEN];
        let mut gathered_len = 0;
        if !head_in_first {
            for fragment in fragments {
                let take = fragment.len().min(HEAD_LEN - gathered_len);
                gathered[gathered_len..gathered_len + take].copy_from_slice(&fragment[..take]);
                gathered_len += take;
                if gathered_len == HEAD_LEN {
                    break;
                }
            }
        }
        Fragmented {
            fragments,
            len,
            gathered,
            gathered_len,
            head_in_first,
        }
    }
}

impl Datagram for Fragmented<'_> {
    fn head(&self) -> &[u8] {
        if self.head_in_first {
            self.fragments.first().copied().unwrap_or(&[])
        } else {
            &self.gathered[..self.gathered_len]
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn copy_body(&self, skip: usize, dst: &mut [u8]) {
        let mut skip = skip;
        let mut written = 0;
        for fragment in self.fragments {
            if written == dst.len() {
                break;
            }
            if skip >= fragment.len() {
                skip -= fragment.len();
                continue;
            }
            let src = &fragment[skip..];
            skip = 0;
            let take = src.len().min(dst.len() - written);
            dst[written..written + take].copy_from_slice(&src[..take]);
            written += take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn fragments_match_the_contiguous_view() {
        let data = bytes(300);
        for cuts in [
            vec![300],
            vec![10, 290],
            vec![3, 5, 92, 200],
            vec![96, 0, 204],
            vec![150, 150],
        ] {
            let mut parts = Vec::new();
            let mut at = 0;
            for cut in &cuts {
                parts.push(&data[at..at + cut]);
                at += cut;
            }
            let fragmented = Fragmented::new(&parts);
            assert_eq!(fragmented.len(), 300);
            let head = fragmented.head();
            assert!(head.len() >= HEAD_LEN, "cuts {cuts:?}");
            assert_eq!(head, &data[..head.len()]);
            for skip in [0, 8, 20, 95, 96, 97, 299, 300] {
                let mut out = vec![0u8; 300 - skip];
                fragmented.copy_body(skip, &mut out);
                assert_eq!(out, &data[skip..], "cuts {cuts:?} skip {skip}");
            }
        }
    }

    #[test]
    fn short_and_empty_datagrams() {
        let data = bytes(30);
        let parts = [&data[..4], &data[4..]];
        let fragmented = Fragmented::new(&parts);
        assert_eq!(fragmented.head(), &data[..]);
        let none: [&[u8]; 0] = [];
        let empty = Fragmented::new(&none);
        assert_eq!(empty.len(), 0);
        assert!(empty.head().is_empty());
        assert_eq!(Contiguous(&data).head(), &data[..]);
    }
}
