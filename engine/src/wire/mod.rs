//! GigE Vision wire formats as typed views over byte buffers.
//!
//! Nothing here does I/O or allocates on the GVSP path. Every parser checks the
//! length once and then never panics, whatever the bytes.
#![deny(unsafe_code)]
