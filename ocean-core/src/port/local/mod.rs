//! The local Port: an HTTP server that emulates the Port REST API with Port's rules.
