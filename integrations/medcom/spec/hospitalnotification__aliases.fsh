Alias: $ActCodes = http://terminology.hl7.org/CodeSystem/v3-ActCode 
Alias: $BundleType = http://hl7.org/fhir/bundle-type
Alias: $Use = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse
Alias: $MessageEvents = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes
Alias: $ActivityCode = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes
Alias: $HNEncounterClass = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-hospitalNotification-encounterClass
Alias: $HNEncounterStatus = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-hospitalNotification-encounterStatus
Alias: $HNAcvitivtyCodes = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-hospitalNotification-messageActivities