/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * gvsp_steer.h: the contract between the XDP program (gvsp_steer.bpf.c) and
 * user space (engine/src/xdp/abi.rs mirrors every definition here; change
 * both together).
 *
 * All multi-byte fields of map keys are in network byte order, exactly as
 * they appear in the packet, so the program never swaps bytes.
 */
#ifndef GVSP_STEER_H
#define GVSP_STEER_H

#include <linux/types.h>

/* Key of the `streams` hash map: one registered GVSP stream. */
struct stream_key {
	__u32 saddr; /* camera's IPv4 source address, network order */
	__u16 dport; /* UDP destination port on this host, network order */
	__u16 pad;   /* always zero */
};

/* Value of the `streams` map: a tag user space chooses (not read here). */
struct stream_value {
	__u32 tag;
};

/*
 * Prepended by the program to every packet it steers (bpf_xdp_adjust_head),
 * so an AF_XDP descriptor starts with these 16 bytes and the Ethernet header
 * follows at `desc.addr + sizeof(struct rx_meta)`. Native byte order.
 */
struct rx_meta {
	__u64 rx_timestamp_ns; /* CLOCK_TAI, or the NIC's clock when RX_META_HW */
	__u32 flags;           /* RX_META_* */
	__u32 magic;           /* RX_META_MAGIC, so a reader can tell it is there */
};

#define RX_META_HW 0x1u            /* rx_timestamp_ns is the NIC hardware stamp */
#define RX_META_MAGIC 0x67767831u  /* "gvx1" */

/* Indices of the per-CPU `counters` array. */
enum counter {
	COUNTER_STEERED = 0,   /* redirected to an AF_XDP socket */
	COUNTER_PASSED = 1,    /* not a registered stream: given to the kernel */
	COUNTER_MALFORMED = 2, /* truncated or invalid headers: given to the kernel */
	COUNTER_NO_SOCKET = 3, /* registered stream, no socket on this queue: given to the kernel */
	COUNTER_NO_META = 4,   /* no headroom for the rx_meta prefix: given to the kernel */
	COUNTER_MAX = 5,
};

#endif
