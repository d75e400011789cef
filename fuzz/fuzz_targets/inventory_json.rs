//! The inventory JSON reader (what the spec generator and `specline spec FILE` read):
//! any bytes give an inventory or an error, never a panic or a stack overflow; what reads
//! also walks and writes back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use specline_inventory_model::Inventory;

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = serde_json::from_slice::<Inventory>(data) {
        let _ = inv.walk_tests().len();
        let json = serde_json::to_string(&inv).expect("an inventory serialises");
        let _ = serde_json::from_str::<Inventory>(&json);
    }
});
