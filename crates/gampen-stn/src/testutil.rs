//! The fixture-recipe helpers live in `gampen_testing::generated`, shared with gampen-backbone.

pub(crate) use gampen_testing::generated::{assert_close_verbose as assert_close, generated, pair};
