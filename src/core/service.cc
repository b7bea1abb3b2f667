#include "core/service.h"

namespace meshgate {

const char* to_string(Protocol p) { return p == Protocol::tcp ? "tcp" : "udp"; }

}  // namespace meshgate
