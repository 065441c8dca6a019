Alias: $StatusCodes = http://hl7.org/fhir/encounter-status
Alias: $ActCodes = http://terminology.hl7.org/CodeSystem/v3-ActCode
Alias: $bcp13 = urn:ietf:bcp:13
Alias: $PriorityCode = http://hl7.org/fhir/request-priority
Alias: $AckOperationOutcomeCodes = http://terminology.hl7.org/CodeSystem/operation-outcome
Alias: $StatusCodeDiagnosticReport = http://hl7.org/fhir/diagnostic-report-status
Alias: $ObsStatusCodes = http://hl7.org/fhir/observation-status
Alias: $NPU = urn:oid:1.2.208.176.2.1
Alias: $mediatype = http://terminology.hl7.org/CodeSystem/media-type
Alias: $obsInterpretation = http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation
Alias: $nullflavor = http://terminology.hl7.org/CodeSystem/v3-NullFlavor
Alias: $sct = http://snomed.info/sct

