(import_declaration (identifier) @import)
(call_expression
  (navigation_expression
    target: (simple_identifier) @call.recv
    suffix: (navigation_suffix suffix: (simple_identifier) @call.name)))
