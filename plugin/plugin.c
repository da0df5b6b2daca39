/* plugin.c - the four symbols Wireshark 4.0's plugin loader looks for, and
 * nothing else exported (see smbscope.map). */
#include "smbscope.h"

#include <epan/proto.h>
#include <epan/tap.h>

#ifndef SMBSCOPE_VERSION
#error "SMBSCOPE_VERSION must be defined by the build"
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = SMBSCOPE_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = 4;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = 0;

WS_DLL_PUBLIC void plugin_register(void);

void plugin_register(void)
{
    static proto_plugin proto;
    static tap_plugin tap;

    proto.register_protoinfo = proto_register_smbscope;
    proto.register_handoff = proto_reg_handoff_smbscope;
    proto_register_plugin(&proto);

    /* The statistics tree is a tap listener: registered after all taps. */
    tap.register_tap_listener = smbscope_register_stats;
    tap_register_plugin(&tap);
}
