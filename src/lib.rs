//! gampen
