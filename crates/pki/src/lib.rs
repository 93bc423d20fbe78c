//! Development PKI: a CA and certificates for every service and demo user, generated with rcgen.
