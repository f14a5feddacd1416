// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * gvsp_steer: XDP steering of GigE Vision stream (GVSP) packets to AF_XDP.
 *
 * For every packet on the interface:
 *   - parse Ethernet (at most one 802.1Q / 802.1ad tag), IPv4, UDP;
 *   - when {IPv4 source, UDP destination port} is in `streams`, prepend an
 *     rx_meta (receive timestamp) to the packet and redirect it to the
 *     AF_XDP socket of the receiving queue (`xsks[rx_queue_index]`);
 *   - everything else (GVCP, PTP, ARP, IPv6, IP fragments, unknown ports) is
 *     passed to the kernel untouched, and so is anything malformed (the
 *     kernel drops it and counts it in its own statistics).
 *
 * Two entry points share the logic: `gvsp_steer` loads anywhere;
 * `gvsp_steer_hw` calls the bpf_xdp_metadata_rx_timestamp kfunc, which the
 * verifier accepts only in a device-bound program (loaded with
 * BPF_F_XDP_DEV_BOUND_ONLY for one ifindex, attached in native mode).
 *
 * Both are xdp.frags programs so that jumbo packets split over several
 * buffers (veth, multi-buffer drivers) are seen at all; only the headers,
 * which are always in the first buffer, are read.
 *
 * The stamp travels in band: bpf_xdp_adjust_head grows the packet at the
 * front by sizeof(struct rx_meta), so the AF_XDP descriptor starts with the
 * rx_meta and the Ethernet header follows it. The XDP metadata area
 * (bpf_xdp_adjust_meta) would leave the frame untouched, but some kernels
 * refuse that helper to XDP programs outright ("program of this type cannot
 * use helper bpf_xdp_adjust_meta"), and adjust_head is available to every
 * XDP program on every kernel that has AF_XDP. Only steered packets are
 * changed; what goes to the kernel is passed as it came.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "gvsp_steer.h"

/* Queues an interface may have; XSKMAP key = rx queue index. */
#define MAX_QUEUES 64
/* Streams that can be registered at once. */
#define MAX_STREAMS 1024

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define IP_MF_ 0x2000
#define IP_OFFSET_ 0x1FFF

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_STREAMS);
	__type(key, struct stream_key);
	__type(value, struct stream_value);
} streams SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Kernel function (net/core/xdp.c); weak so that the object still loads on
 * kernels without it, where only `gvsp_steer` is used.
 */
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __weak __ksym;

/* VLAN header (linux/if_vlan.h is kernel-internal). */
struct vlan_hdr_ {
	__be16 tci;
	__be16 encapsulated_proto;
};

static __always_inline int count(__u32 which, int action)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &which);

	if (value)
		*value += 1;
	return action;
}

static __always_inline int steer(struct xdp_md *ctx, const int hw)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct stream_key key = {};
	struct rx_meta *meta;
	struct iphdr *ip;
	struct udphdr *udp;
	__u64 stamp = 0;
	__u32 flags = 0;
	__u32 queue;
	__u16 proto;
	__u32 ihl;
	long action;
	void *l3;

	if ((void *)(eth + 1) > data_end)
		return count(COUNTER_MALFORMED, XDP_PASS);
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q_) || proto == bpf_htons(ETH_P_8021AD_)) {
		struct vlan_hdr_ *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return count(COUNTER_MALFORMED, XDP_PASS);
		proto = vlan->encapsulated_proto;
		l3 = vlan + 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return count(COUNTER_PASSED, XDP_PASS);

	ip = l3;
	if ((void *)(ip + 1) > data_end)
		return count(COUNTER_MALFORMED, XDP_PASS);
	ihl = ip->ihl;
	if (ip->version != 4 || ihl < 5)
		return count(COUNTER_MALFORMED, XDP_PASS);
	if (ip->protocol != IPPROTO_UDP)
		return count(COUNTER_PASSED, XDP_PASS);
	/* Fragments: the kernel reassembles them (GVSP never fragments). */
	if (ip->frag_off & bpf_htons(IP_MF_ | IP_OFFSET_))
		return count(COUNTER_PASSED, XDP_PASS);

	udp = (void *)ip + ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return count(COUNTER_MALFORMED, XDP_PASS);

	key.saddr = ip->saddr;
	key.dport = udp->dest;
	if (!bpf_map_lookup_elem(&streams, &key))
		return count(COUNTER_PASSED, XDP_PASS);

	/* A registered stream: stamp it first, then hand it to the socket. */
	if (hw && bpf_xdp_metadata_rx_timestamp) {
		if (bpf_xdp_metadata_rx_timestamp(ctx, &stamp) == 0 && stamp != 0)
			flags |= RX_META_HW;
		else
			stamp = 0;
	}
	if (stamp == 0)
		stamp = bpf_ktime_get_tai_ns();

	/*
	 * Only a queue with a socket gets the prefix, so that whatever is
	 * passed to the kernel is the packet as it arrived.
	 */
	queue = ctx->rx_queue_index;
	if (!bpf_map_lookup_elem(&xsks, &queue))
		return count(COUNTER_NO_SOCKET, XDP_PASS);

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct rx_meta)))
		return count(COUNTER_NO_META, XDP_PASS);
	/* adjust_head invalidated every packet pointer: reload. */
	meta = (void *)(long)ctx->data;
	if ((void *)(meta + 1) > (void *)(long)ctx->data_end)
		return count(COUNTER_NO_META, XDP_PASS);
	meta->rx_timestamp_ns = stamp;
	meta->flags = flags;
	meta->magic = RX_META_MAGIC;

	action = bpf_redirect_map(&xsks, queue, XDP_PASS);
	if (action == XDP_REDIRECT)
		return count(COUNTER_STEERED, XDP_REDIRECT);
	/* The socket went away between the lookup and here: undo the prefix. */
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct rx_meta)))
		return count(COUNTER_NO_SOCKET, XDP_DROP);
	return count(COUNTER_NO_SOCKET, XDP_PASS);
}

SEC("xdp.frags")
int gvsp_steer(struct xdp_md *ctx)
{
	return steer(ctx, 0);
}

SEC("xdp.frags")
int gvsp_steer_hw(struct xdp_md *ctx)
{
	return steer(ctx, 1);
}
