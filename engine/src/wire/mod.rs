//! GigE Vision wire formats as typed views over byte buffers.
#![deny(unsafe_code)]
