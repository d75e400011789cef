//! The settings loader on arbitrary TOML text: every binary's settings are loaded from it
//! (as `doctor` does); any text gives settings or an error, never a panic, and the error
//! prints.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use specline_settings::{Env, LoadOptions, Settings};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!(
        "specline-fuzz-settings-{}.toml",
        std::process::id()
    ));
    let Ok(mut file) = std::fs::File::create(&path) else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    drop(file);
    let options = LoadOptions::new(Env::from_map(Vec::<(String, String)>::new())).file(&path);
    for (_, result) in Settings::check_all(&options) {
        if let Err(e) = result {
            let _ = format!("{e} {e:?}");
        }
    }
});
