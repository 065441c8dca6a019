Extension: MedComHospitalNotificationReportOfAdmissionRecipientExtension
Id: medcom-messaging-reportOfAdmissionRecipientExtension
Title: "MedComReportOfAdmissionRecipientExtension"
Description: "Recipient of a report of admission response"
* value[x] 1..1
* value[x] only Reference(MedComMessagingOrganization)
