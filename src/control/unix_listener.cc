#include "control/unix_listener.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace meshgate::control {

namespace {

std::runtime_error failure(const std::string& path, const std::string& what) {
    return std::runtime_error("admin socket " + path + ": " + what);
}

sockaddr_un address_of(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw failure(path, "path longer than " + std::to_string(sizeof a.sun_path - 1) + " bytes");
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// Whether a process accepts connections on the socket file at `path`.
bool someone_listens(const sockaddr_un& a) {
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return false;
    const bool live = connect(probe, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    close(probe);
    return live;
}

}  // namespace

UnixListener::UnixListener(const std::string& path, mode_t mode, const std::string& group) : path_(path) {
    const sockaddr_un a = address_of(path);
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
        std::filesystem::create_directories(parent, ec);
        if (ec) throw failure(path, "cannot create " + parent.string() + ": " + ec.message());
        ::chmod(parent.c_str(), 0755);
    }
    struct stat st{};
    if (lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) throw failure(path, "is a symbolic link; remove it if it is not meant to be there");
        if (!S_ISSOCK(st.st_mode)) throw failure(path, "exists and is not a socket; not touching it");
        if (someone_listens(a)) throw failure(path, "another meshgated is running and serving it; stop that one first");
        if (unlink(path.c_str()) != 0) throw failure(path, std::string("cannot remove the stale socket: ") + std::strerror(errno));
    }
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw failure(path, std::strerror(errno));
    // The file is born with `mode`: no window in which it is more open than asked.
    const mode_t before = umask(static_cast<mode_t>(~mode & 0777));
    const int bound = bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    const int bind_errno = errno;
    umask(before);
    if (bound != 0) {
        close(fd_);
        throw failure(path, std::string("bind: ") + std::strerror(bind_errno));
    }
    if (lstat(path.c_str(), &st) == 0) inode_ = st.st_ino;
    if (!group.empty()) {
        const struct group* g = getgrnam(group.c_str());
        if (!g || fchownat(AT_FDCWD, path.c_str(), static_cast<uid_t>(-1), g->gr_gid, AT_SYMLINK_NOFOLLOW) != 0) {
            const std::string why = g ? std::strerror(errno) : "no such group";
            close(fd_);
            unlink(path.c_str());
            throw failure(path, "socket_group " + group + ": " + why);
        }
    }
    if (listen(fd_, 64) != 0) {
        const std::string why = std::strerror(errno);
        close(fd_);
        unlink(path.c_str());
        throw failure(path, "listen: " + why);
    }
}

UnixListener::~UnixListener() {
    close(fd_);
    struct stat st{};
    if (lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == inode_) unlink(path_.c_str());
}

}  // namespace meshgate::control
