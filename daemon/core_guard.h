/*
 * core_guard.h: forced into every syncd_core source by CMake (-include).
 * The object core may not use libuv, protobuf-c or the layers above it:
 * each of their headers declares one of these names, so including one
 * anywhere in the core fails to compile ("attempt to use poisoned").
 * uv.h is on the system include path, so hiding paths alone cannot do it.
 */
#pragma GCC poison uv_loop_t uv_handle_t uv_stream_t
#pragma GCC poison ProtobufCMessage ProtobufCBinaryData
#pragma GCC poison session_send session_accept server_init server_shutdown
#pragma GCC poison dispatch_request dispatch_handler codec_decode_request
