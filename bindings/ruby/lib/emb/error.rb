# frozen_string_literal: true

module Emb
  # emb_status values (fixed forever; new codes are only appended).
  STATUS_NAMES = %i[
    EMB_OK EMB_ERR_INVALID_ARGUMENT EMB_ERR_NO_MEMORY EMB_ERR_IO EMB_ERR_FORMAT
    EMB_ERR_VERSION EMB_ERR_UNSUPPORTED EMB_ERR_INVALID_UTF8 EMB_ERR_TOO_LONG
    EMB_ERR_BUFFER_TOO_SMALL EMB_ERR_NO_WEIGHTS EMB_ERR_INTERNAL
  ].freeze
  STATUS_NAMES.each_with_index { |name, value| const_set(name, value) }

  # A libemb call failed.
  #   #status       the emb_status as an Integer (Emb::EMB_ERR_IO == 3)
  #   #status_name  its name as a Symbol (:EMB_ERR_IO; :EMB_STATUS_<n> for a
  #                 code newer than this binding)
  #   #message      the library's detail message (emb_last_error()) prefixed
  #                 by the status string; #detail is the detail alone
  class Error < StandardError
    attr_reader :status, :detail

    def initialize(status, detail, status_string = nil)
      @status = Integer(status)
      @detail = detail.to_s
      @status_string = status_string || status_name.to_s
      super(@detail.empty? ? @status_string : "#{@status_string}: #{@detail}")
    end

    def status_name
      STATUS_NAMES[@status] || :"EMB_STATUS_#{@status}"
    end
  end

  # libemb.so.1 could not be found or loaded (the message says where it looked).
  class LibraryNotFound < LoadError; end
end
