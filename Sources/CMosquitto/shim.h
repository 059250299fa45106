#ifndef SLUICE_CMOSQUITTO_SHIM_H
#define SLUICE_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
