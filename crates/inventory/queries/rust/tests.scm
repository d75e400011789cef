; Rust: functions with a test attribute (#[test], #[tokio::test], #[rstest], ...) are tests;
; attributes are the preceding `attribute_item` siblings (see the language's
; sibling_attr_kinds). Modules are suites, pruned when they hold no test.

(mod_item name: (identifier) @name body: (declaration_list)) @suite
(function_item name: (identifier) @name) @test.candidate
