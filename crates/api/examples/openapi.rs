//! Print the API's OpenAPI spec (the text of `docs/openapi.json`).

fn main() {
    print!("{}", specline_api::openapi::json());
}
