#pragma once

#include "dataplane/packet.h"

namespace meshgate::dataplane {

// Answers meshgate writes into the received frame itself and sends back where it came from.
// Each returns the new frame length.

// ARP request for one of our addresses → ARP reply from `our_mac`.
uint32_t make_arp_reply(const PacketView& v, const uint8_t our_mac[6]);
// ICMP / ICMPv6 echo request → echo reply (addresses swapped).
uint32_t make_echo_reply(const PacketView& v);
// A TCP segment nobody will take → RST (+ACK) from its destination to its source.
uint32_t make_tcp_reset(const PacketView& v);

// Swaps the Ethernet source and destination, so the frame goes back to its last hop.
void bounce_ethernet(uint8_t* frame);

}  // namespace meshgate::dataplane
