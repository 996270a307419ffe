//! `TCP_NODELAY` on the connections to a database server.
//!
//! The driver opens its sockets itself and, in the release we use, leaves Nagle's algorithm
//! on. A message larger than one TCP segment (a batch of a thousand updates, a chunk of keys
//! to read back) then has its last segment held until the server acknowledges the first,
//! and the server delays that acknowledgement: 40 ms on Linux, for every such statement.
//! An apply of 10,000 updates on PostgreSQL spent most of its time in those waits. PostgreSQL's
//! own client library and most drivers turn the algorithm off; so do we, on every TCP socket
//! of the process, each time a connection to a server opens. A command-line run holds no
//! other TCP sockets, and the option changes only when small writes leave, never what they
//! carry.

#![allow(unsafe_code)]

/// Sets `TCP_NODELAY` on every TCP socket the process holds; how many were set.
#[cfg(unix)]
pub(crate) fn on_every_tcp_socket() -> usize {
    open_descriptors()
        .into_iter()
        .filter(|&fd| is_tcp(fd) && set_nodelay(fd))
        .count()
}

/// Elsewhere the option is left as the driver sets it.
#[cfg(not(unix))]
pub(crate) fn on_every_tcp_socket() -> usize {
    0
}

/// The process's open file descriptors: listed by the kernel on Linux, the low ones
/// elsewhere (a command-line run opens few).
#[cfg(unix)]
fn open_descriptors() -> Vec<libc::c_int> {
    match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => (0..1024).collect(),
    }
}

/// Whether `fd` is a stream socket of IPv4 or IPv6.
#[cfg(unix)]
fn is_tcp(fd: libc::c_int) -> bool {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `kind` and `len` are valid for writes of the sizes given; a descriptor that is
    // not a socket (or no longer open) makes the call fail, and nothing else happens.
    let ok = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &raw mut len,
        )
    } == 0;
    if !ok || kind != libc::SOCK_STREAM {
        return false;
    }
    // SAFETY: an all-zero `sockaddr_storage` is a valid value of that plain C struct.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` is large enough for any address family and `len` says so.
    let ok = unsafe { libc::getsockname(fd, (&raw mut addr).cast(), &raw mut len) } == 0;
    ok && matches!(
        libc::c_int::from(addr.ss_family),
        libc::AF_INET | libc::AF_INET6
    )
}

/// Turns Nagle's algorithm off on a TCP socket; whether that worked.
#[cfg(unix)]
fn set_nodelay(fd: libc::c_int) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: `on` is valid for reads of the size given; `fd` is a TCP socket.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) == 0
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn tcp_sockets_get_nodelay_and_others_are_left_alone() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        assert!(!client.nodelay().unwrap());
        let file = tempfile::tempfile().unwrap();
        assert!(on_every_tcp_socket() >= 2);
        assert!(client.nodelay().unwrap());
        assert!(server.nodelay().unwrap());
        use std::os::fd::AsRawFd as _;
        assert!(!is_tcp(file.as_raw_fd()));
    }
}
