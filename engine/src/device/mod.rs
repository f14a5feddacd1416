//! The GVCP client for one camera: request ids, retries and timeouts,
//! PENDING_ACK, control privilege kept by a heartbeat, and discovery.
