//! Unpredictable bytes from the kernel: `getrandom(2)`, falling back to `/dev/urandom`.

use std::io::{self, Read};

/// Fills `buf` with cryptographically secure random bytes.
///
/// Uses `getrandom(2)` (blocking only until the kernel pool is first initialized, which on a
/// running PBX has long happened); when the kernel lacks the call (`ENOSYS`, kernels before
/// 3.17) or forbids it (`EPERM` from a seccomp filter), reads `/dev/urandom` instead.
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a valid writable region of exactly `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ENOSYS) | Some(libc::EPERM) => return fill_from_urandom(rest),
                _ => return Err(err),
            }
        }
        // n >= 0 here and never more than requested.
        done += usize::try_from(n).unwrap_or(0).min(rest.len());
    }
    Ok(())
}

/// A random `u64` (convenience over [`fill`]).
pub fn u64() -> io::Result<u64> {
    let mut b = [0u8; 8];
    fill(&mut b)?;
    Ok(u64::from_ne_bytes(b))
}

fn fill_from_urandom(buf: &mut [u8]) -> io::Result<()> {
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_length_and_differs() {
        for len in [0usize, 1, 7, 32, 256, 4096, 70_000] {
            let mut a = vec![0u8; len];
            let mut b = vec![0u8; len];
            fill(&mut a).unwrap();
            fill(&mut b).unwrap();
            if len >= 16 {
                assert_ne!(a, b, "two draws of {len} bytes were equal");
                assert!(a.iter().any(|&x| x != 0), "{len} bytes all zero");
            }
        }
    }

    #[test]
    fn urandom_fallback_works() {
        let mut a = [0u8; 64];
        fill_from_urandom(&mut a).unwrap();
        assert!(a.iter().any(|&x| x != 0));
    }

    #[test]
    fn u64_values_vary() {
        let vals: std::collections::HashSet<u64> = (0..64).map(|_| u64().unwrap()).collect();
        assert!(vals.len() > 60);
    }
}
