; pytest and unittest: every module-level function, every class and every method is
; found here; which of them pytest collects (`python_classes`, `python_functions`, a
; `TestCase` base, from the project's pytest configuration or pytest's defaults) is
; decided in Rust (`pytest_collect` in extract.rs). Decorators are captured as @attr and
; read by the framework's attribute rules (skip, xfail, parametrize); a class's bases are
; captured as @args.

; def test_x(): ... at module level (decorators are siblings inside decorated_definition)
(module
  (function_definition name: (identifier) @name) @test.candidate)
(module
  (decorated_definition
    (decorator)* @attr
    definition: (function_definition name: (identifier) @name) @test.candidate))

; class TestX: ... / class X(unittest.TestCase): ... ; decorated classes merge with these
; (same node); a class without test methods is pruned.
(class_definition
  name: (identifier) @name
  superclasses: (argument_list)? @args) @suite
(decorated_definition
  (decorator)* @attr
  definition: (class_definition name: (identifier) @name) @suite)

; Methods of any class.
(class_definition
  body: (block
    (function_definition name: (identifier) @name) @test.candidate))
(class_definition
  body: (block
    (decorated_definition
      (decorator)* @attr
      definition: (function_definition name: (identifier) @name) @test.candidate)))

; Runtime status calls inside a test: pytest.skip/xfail, unittest's self.skipTest.
(call
  function: (attribute
    object: (identifier) @_mod
    attribute: (identifier) @_fn)
  (#eq? @_mod "pytest")
  (#eq? @_fn "skip")) @annotation.skip
(call
  function: (attribute
    object: (identifier) @_mod
    attribute: (identifier) @_fn)
  (#eq? @_mod "pytest")
  (#eq? @_fn "xfail")) @annotation.xfail
(call
  function: (attribute
    object: (identifier) @_self
    attribute: (identifier) @_fn)
  (#eq? @_self "self")
  (#eq? @_fn "skipTest")) @annotation.skip
