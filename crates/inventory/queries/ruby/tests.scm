; RSpec and Minitest. Block calls (`describe "x" do`, `it "y" do`, `it { }`) go to the hook
; (src/lang/ruby.rs), which knows the words; Minitest classes and `def test_*` methods are
; plain patterns.

; describe "x" do ... end · it "y" do ... end · RSpec.describe Foo do ... end
(call
  method: (identifier) @chain
  arguments: (argument_list . (_) @name.expr) @args
  block: (_)
  (#match? @chain "^[xf]?(describe|context|feature|example_group|it|its|specify|example|scenario|test|skip|pending|focus)$")) @item

; it "not yet implemented" (no block: pending)
(call
  method: (identifier) @chain
  arguments: (argument_list . (_) @name.expr) @args
  !block
  (#match? @chain "^[xf]?(describe|context|feature|example_group|it|its|specify|example|scenario|test|skip|pending|focus)$")) @pending @item

; it { is_expected.to be_valid } (one-liner, no name)
(call
  method: (identifier) @chain
  !arguments
  block: (_)
  (#match? @chain "^[xf]?(describe|context|feature|example_group|it|its|specify|example|scenario|test|skip|pending|focus)$")) @item

; Minitest: class FooTest < Minitest::Test / ActiveSupport::TestCase
(class
  name: (_) @name
  superclass: (superclass) @_super
  (#match? @_super "Test|Spec")) @suite

; `def test_x=` is a setter, still run by Minitest (it matches /^test_/).
(method
  name: [(identifier) (setter)] @name
  (#match? @name "^test_")) @test
