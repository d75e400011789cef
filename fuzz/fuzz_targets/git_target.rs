//! Target and ref parsing: never a panic; an accepted URL carries no userinfo and does
//! not start with `-`; an accepted ref passes git's rules as this crate states them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use specline_inventory_model::target::{check_ref, Target};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Target::parse(text) {
        Ok(Target::Git { url, .. }) => {
            assert!(!url.starts_with('-'));
            let rest = url.split_once("://").map_or("", |(_, r)| r);
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            assert!(!authority.contains('@'), "userinfo accepted");
        }
        Ok(Target::Local(path)) => assert!(!text.starts_with('-') && !path.as_os_str().is_empty()),
        Err(e) => assert!(!e.to_string().is_empty() && !e.code().is_empty()),
    }
    if check_ref(text).is_ok() {
        assert!(!text.is_empty() && !text.starts_with('-') && !text.contains(".."));
        assert!(!text.bytes().any(|b| b.is_ascii_control() || b == b' '));
    }
});
