# frozen_string_literal: true

# libemb for Ruby: text embeddings on the CPU, the same vectors as the C API.
#
#   require "emb"
#   Emb::Model.open do |m|                      # the built-in demo model
#     q = m.encode(["how do plants make food?"], kind: :query)
#     p = m.encode(["Photosynthesis turns light into sugar."], kind: :passage)
#     puts Emb.cosine(q[0], p[0])
#   end
#
# Pure ruby-ffi over libemb.so.1 (include/emb.h); see docs/ruby.md.
require_relative "emb/error"
require_relative "emb/native"
require_relative "emb/model"

module Emb
  VERSION = "1.0.0"
end
