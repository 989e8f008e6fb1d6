//! Shared helpers of the end-to-end tests: locating built binaries and waiting for servers.
