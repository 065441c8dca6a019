Alias: $StatusCodes = http://hl7.org/fhir/encounter-status
Alias: $ActCodes = http://terminology.hl7.org/CodeSystem/v3-ActCode
Alias: $EncounterClassVS = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-core-encounter-class
Alias: $MedComCoreECPRValues = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-core-ecpr-values
Alias: $PractitionerRoles = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-core-PractitionerRoles 
Alias: $PractitionerRole = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-core-PractitionerRolesSKSadministrativ
Alias: $MedComCoreECPRCodes = https://medcomfhir.dk/ig/terminology/CodeSystem-medcom-core-ecpr-codes
Alias: $StatusCodeDiagnosticReport = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-corediagnosticreport-status
Alias: $ObsStatusCodes = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-core-observation-status
Alias: $v3-Confidentiality = http://terminology.hl7.org/CodeSystem/v3-Confidentiality
Alias: $Mimetypes = http://medcomfhir.dk/ig/terminology/ValueSet/medcom-core-attachmentMimeTypes
Alias: $obsInterpretation = http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-core-interpretation-codes
Alias: $DiagnosticReportCodeSystem = http://medcomfhir.dk/ig/terminology/CodeSystem/MedComDiagnosticReportCodes	
Alias: $DiagnosticReportCode = http://medcomfhir.dk/ig/terminology/ValueSet/MedComDiagnosticReportCodesValueset
Alias: $mediastatus = http://hl7.org/fhir/event-status
Alias: $ProducenID = http://medcomfhir.dk/ig/terminology/CodeSystem/MedComProducentID  
Alias: $obligation = http://hl7.org/fhir/StructureDefinition/obligation

// ValueAttachment R5 extension used in Observation
Alias: $obsExtValueAttachment = http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value[x]

Alias: $MedComObsExtValueAttachment = http://medcomfhir.dk/ig/core/StructureDefinition/medcom-observation-value-attachment-extension