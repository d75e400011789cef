(import_declaration (scoped_identifier) @import)
(method_invocation
  object: (identifier) @call.recv
  name: (identifier) @call.name)
