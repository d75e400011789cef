//! Prints the settings reference; `docs/settings.md` is this output.
fn main() {
    print!("{}", specline_settings::reference_markdown());
}
