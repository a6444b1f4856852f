/* qms-provision bridge (provision_bridge.c): argv as main's, argv[0] "bridge". */
#ifndef QMS_PROVISION_BRIDGE_H
#define QMS_PROVISION_BRIDGE_H
int prov_bridge_main(int argc, char **argv);
#endif
