(call
  method: (identifier) @_req
  arguments: (argument_list . (string) @import)
  (#match? @_req "^require(_relative)?$"))
(call
  receiver: [(constant) (identifier)] @call.recv
  method: (identifier) @call.name)
