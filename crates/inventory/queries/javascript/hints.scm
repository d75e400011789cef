; Imported modules and `a.b(...)` calls, for framework detection and domain hints.
(import_statement source: (string) @import)
(export_statement source: (string) @import)
(call_expression
  function: (identifier) @_req
  arguments: (arguments . (string) @import)
  (#eq? @_req "require"))
(call_expression
  function: (member_expression
    object: (identifier) @call.recv
    property: (property_identifier) @call.name))
