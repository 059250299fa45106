#ifndef SLUICE_THREAD_PRIORITY_H
#define SLUICE_THREAD_PRIORITY_H

/* Linked into sluiced: see thread_priority.c. Calling it keeps the object in the link. */
void sluice_thread_priority_link(void);

#endif
