Alias: $StatusCodes = http://hl7.org/fhir/encounter-status
Alias: $ActCodes = http://terminology.hl7.org/CodeSystem/v3-ActCode 
Alias: $Use = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse
Alias: $EventStatus = http://hl7.org/fhir/event-status
Alias: $CategoryCodes = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes
Alias: $bcp13 = urn:ietf:bcp:13
Alias: $MessageEvents = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes
Alias: $BundleType = http://hl7.org/fhir/bundle-type
Alias: $ActivityCode = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes
Alias: $PriorityCode = http://hl7.org/fhir/request-priority
Alias: $RequestPriority = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-careCommunication-requestPriority 
Alias: $CCCategoryCodes = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-careCommunication-categories 
Alias: $Mimetypes = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-core-attachmentMimeTypes
Alias: $PractitionerRoleValues = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-core-PractitionerRoles
Alias: $PractitionerRole = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-core-PractitionerRolesSKSadministrativ

Alias: $CareCommunicationActivities = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-careCommunication-messagingActivities