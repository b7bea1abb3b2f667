// SPDX-License-Identifier: Apache-2.0 OR GPL-2.0
// meshgate's XDP steering program for AF_XDP ports (loaded by the net_af_xdp PMD through its
// xdp_prog= argument). Only what meshgated serves goes to its AF_XDP sockets: frames to a VIP
// or a SNAT address (owned_v4/owned_v6, kept by meshgated's control thread), ARP for those
// addresses, IPv6 neighbour solicitations for them, and the second-chance tunnel (IP-in-IP)
// from the other nodes of the tier (the same maps, by source). Everything else, the node's own SSH,
// BGP and health-probe replies, stays with the kernel (XDP_PASS). So does what cannot be
// parsed: the kernel drops it as it always would.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// The PMD puts queue i's socket at index i.
struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

// Addresses meshgated knows → what they are to it (enum role).
enum role { served = 1, tier_peer = 2 };
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32);  // network order
    __type(value, __u8);
} owned_v4 SEC(".maps");

struct v6_key {
    __u8 address[16];
};
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, struct v6_key);
    __type(value, __u8);
} owned_v6 SEC(".maps");

// What the program decided, frame by frame (see enum verdict).
enum verdict { to_meshgate, to_kernel, malformed, verdicts };
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, verdicts);
    __type(key, __u32);
    __type(value, __u64);
} verdict_counts SEC(".maps");

struct arp_ipv4 {  // RFC 826 for Ethernet and IPv4
    __be16 hardware, protocol;
    __u8 hardware_length, protocol_length;
    __be16 operation;
    __u8 sender_mac[ETH_ALEN];
    __u8 sender_ip[4];
    __u8 target_mac[ETH_ALEN];
    __u8 target_ip[4];
} __attribute__((packed));

struct vlan_tag {
    __be16 tci;
    __be16 encapsulated;
};

static __always_inline int count(enum verdict v) {
    __u32 key = v;
    __u64* n = bpf_map_lookup_elem(&verdict_counts, &key);
    if (n) __sync_fetch_and_add(n, 1);
    return v;
}

static __always_inline __u8 role4(__u32 address) {
    __u8* role = bpf_map_lookup_elem(&owned_v4, &address);
    return role ? *role : 0;
}

static __always_inline __u8 role6(const void* address) {
    struct v6_key key;
    __builtin_memcpy(key.address, address, 16);
    __u8* role = bpf_map_lookup_elem(&owned_v6, &key);
    return role ? *role : 0;
}

static __always_inline int owned4(__u32 address) { return role4(address) & served; }
static __always_inline int owned6(const void* address) { return role6(address) & served; }
static __always_inline int tunnel(__u8 protocol) { return protocol == IPPROTO_IPIP || protocol == IPPROTO_IPV6; }

// Which way the frame goes; never touches a byte past data_end.
static __always_inline enum verdict classify(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;
    if ((void*)(eth + 1) > end) return malformed;
    __be16 type = eth->h_proto;
    void* l3 = eth + 1;
    if (type == bpf_htons(ETH_P_8021Q)) {
        struct vlan_tag* tag = l3;
        if ((void*)(tag + 1) > end) return malformed;
        type = tag->encapsulated;
        l3 = tag + 1;
    }
    if (type == bpf_htons(ETH_P_IP)) {
        struct iphdr* ip = l3;
        if ((void*)(ip + 1) > end) return malformed;
        if (owned4(ip->daddr)) return to_meshgate;
        return tunnel(ip->protocol) && (role4(ip->saddr) & tier_peer) ? to_meshgate : to_kernel;
    }
    if (type == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr* ip = l3;
        if ((void*)(ip + 1) > end) return malformed;
        if (owned6(&ip->daddr)) return to_meshgate;
        if (tunnel(ip->nexthdr) && (role6(&ip->saddr) & tier_peer)) return to_meshgate;
        // A neighbour solicitation goes to a multicast group: look at its target.
        if (ip->nexthdr == IPPROTO_ICMPV6) {
            struct icmp6hdr* icmp = (void*)(ip + 1);
            if ((void*)(icmp + 1) + 16 > end) return to_kernel;
            if (icmp->icmp6_type == 135 && owned6((void*)(icmp + 1))) return to_meshgate;
        }
        return to_kernel;
    }
    if (type == bpf_htons(ETH_P_ARP)) {
        struct arp_ipv4* arp = l3;
        if ((void*)(arp + 1) > end) return malformed;
        __u32 target;
        __builtin_memcpy(&target, arp->target_ip, 4);
        return owned4(target) ? to_meshgate : to_kernel;
    }
    return to_kernel;
}

SEC("xdp")
int meshgate_steer(struct xdp_md* ctx) {
    if (count(classify(ctx)) != to_meshgate) return XDP_PASS;
    // No socket on this queue (meshgated is not running): the kernel gets it.
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
